"""The default themes, in the contract's order (also the order of the board-paper table)."""

DEFAULT_THEMES: list[tuple[str, str]] = [
    ("domestic_abuse", "Domestic abuse"),
    ("misconduct", "Allegations of misconduct"),
    ("financial_concern", "Financial concern"),
    ("mental_health", "Mental health"),
    ("line_manager", "Concerns about a line manager"),
    ("bullying", "Bullying in the workplace"),
    ("substance_misuse", "Substance misuse"),
    ("promotion_process", "Promotion process"),
    ("industrial_action", "Concerns linked to industrial action"),
    ("gambling", "Gambling"),
    ("matrimonial", "Matrimonial"),
    ("misogyny", "Misogyny"),
    ("homophobia", "Homophobia"),
    ("other", "Other"),
]
