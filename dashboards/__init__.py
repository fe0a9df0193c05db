"""The managers' dashboard: ``streamlit run dashboards/app.py`` (or ``billing-reports serve``)."""
