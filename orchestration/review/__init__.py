"""What a reviewer reads before anything changes: plans of every stack (on mock inputs where an
upstream stack was never applied), their risk flags and policy checks, the topology picture, the
destroy preview and promotion between environments."""
