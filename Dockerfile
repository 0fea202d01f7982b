# The hosted demo (a Docker Space, or any Docker host): the same scripts/setup.sh as `make run`, in public mode.
# scripts/test_image_fs.sh builds this image's file system without Docker (a fresh venv, the same setup, no
# ../shared) and runs the browser test against it; `make test` runs it.
# The two TF.js face recognizers come from npm: a node stage fetches them, so the app image needs no node.
FROM node:20-slim AS face-models
WORKDIR /app
COPY scripts/fetch_face_models.sh scripts/
RUN scripts/fetch_face_models.sh && mkdir -p assets/models/human-models

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 app
WORKDIR /app
RUN chown app:app /app
USER app
COPY --chown=app:app requirements.txt requirements-nodeps.txt ./
COPY --chown=app:app scripts/setup.sh scripts/fetch_face_models.sh scripts/
COPY --chown=app:app --from=face-models /app/assets/models/human-models assets/models/human-models
# torch as the CPU-only build first (about 5 GB smaller than PyPI's CUDA wheel); setup.sh then finds it installed.
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu \
    && scripts/setup.sh && rm -rf /home/app/.cache/pip
COPY --chown=app:app . .
RUN .venv/bin/python scripts/build_demo_pack.py
# Public mode: uploads and the built-in demos only, smaller uploads, a per-visitor rate limit, no server paths shown,
# nothing from an upload written to disk (README, "Sharing a demo"). No ../shared/data in the image: HIDESEEK_DATA
# points at an empty folder, and the pages open on the demo pack (public-domain and CC0 photos, assets/demo/
# LICENCES.csv) and the synthetic Waldo pages.
ENV HIDESEEK_PUBLIC=1 \
    HIDESEEK_DATA=/app/data \
    HIDESEEK_CACHE=/tmp/hideseek-cache \
    STREAMLIT_SERVER_MAX_UPLOAD_SIZE=10
RUN mkdir -p /app/data
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD [".venv/bin/python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
