"""Session context: click-stream data and the session-based models (SKNN, V-SKNN, STAN) used for re-ranking.
May import tools.schemas and catalog; not the other stages."""
