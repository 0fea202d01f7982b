"""Hide & Seek computation layer: models, images and the five tools. Never imports streamlit."""
