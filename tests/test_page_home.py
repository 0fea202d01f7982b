"""The app shell (st.navigation) opens on the home page, which renders the tool list and the model table."""

from streamlit.testing.v1 import AppTest


def test_home_page_renders_with_model_table() -> None:
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.endswith("Hide & Seek")
    table = at.dataframe[0].value
    assert {"MobileNetV2 ImageNet classifier", "MTCNN face detector"} <= set(table["title"])
    facenet = table[table["title"].str.startswith("FaceNet")]
    assert not facenet["available"].any() and facenet["reason"].str.contains("no weights").all()
