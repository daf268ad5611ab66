"""llama.cpp integration: GGUF export (:mod:`.export`) and serving a GGUF for eval (:mod:`.serve`)."""
