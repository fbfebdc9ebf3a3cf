"""The screen reader's accuracy eval: screens with known truth (demo shop and saved real pages) and scoring."""
