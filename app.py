"""Hide & Seek: the dashboard's entry point (``streamlit run app.py``)."""

import streamlit as st

from core.config import public_mode

st.set_page_config(page_title="Hide & Seek", page_icon="🫥", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/waldo.py", title="Find Waldo", icon="🔴"),
    st.Page("pages/faces.py", title="Faces", icon="🙂"),
    st.Page("pages/grid.py", title="Image grid", icon="🧩"),
    st.Page("pages/attributions.py", title="Attributions", icon="🔍"),
    st.Page("pages/cloak.py", title="Cloak", icon="🫥"),
    st.Page("pages/robustness.py", title="Robustness", icon="🛡️"),
    st.Page("pages/inside.py", title="Inside the network", icon="🧠"),
    # each tool adds its page here
]

if public_mode():
    st.sidebar.caption(
        "Public demo: uploads stay in memory and are never stored; see Home, Privacy, for exactly what is kept."
    )
st.navigation(PAGES).run()
