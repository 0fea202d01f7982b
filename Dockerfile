# A thin wrapper over scripts/setup.sh (the same setup `make run` uses) for Docker hosts such as a Hugging Face Space.
# The two TF.js face recognizers come from npm: a node stage fetches them, so the app image needs no node.
FROM node:20-slim AS face-models
WORKDIR /app
COPY scripts/fetch_face_models.sh scripts/
RUN scripts/fetch_face_models.sh && mkdir -p assets/models/human-models

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
COPY scripts/setup.sh scripts/fetch_face_models.sh scripts/
COPY --from=face-models /app/assets/models/human-models assets/models/human-models
RUN scripts/setup.sh
COPY . .
# Without ../shared/data the pages use their built-in demos (skimage photos, synthetic Waldo pages, digits).
ENV HIDESEEK_DATA=/app/data
EXPOSE 8501
CMD [".venv/bin/python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
