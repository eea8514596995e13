"""The editable list of themes and the automatic theme suggester."""
