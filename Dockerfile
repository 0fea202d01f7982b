# A thin wrapper over scripts/setup.sh (the same setup `make run` uses) for Docker hosts such as a Hugging Face Space.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
COPY scripts/setup.sh scripts/
RUN scripts/setup.sh
COPY . .
# Without ../shared/data the pages use their built-in demos (skimage photos, synthetic Waldo pages, digits).
ENV HIDESEEK_DATA=/app/data
EXPOSE 8501
CMD [".venv/bin/python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
