"""Stage 1, capture: the browser, frames and their store, perceptual hashes, the CDP recorder, privacy masking,
personas and browse scripts. May import tools.schemas, tools.atomic and catalog; not the other stages."""
