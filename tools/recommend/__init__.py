"""Stage 3, recommendation: constraints from a summary, candidate retrieval, the MNL optimizer, relaxation,
explanations and preference changes made in chat.
May import tools.schemas, tools.atomic and catalog; not the other stages."""
