"""Stage 2, perception: OCR, the offline screen reader, readings, text parsing, colours and the summariser that
turns readings into a BehaviorSummary.
May import tools.schemas, tools.atomic, catalog and prompts; not the other stages."""
