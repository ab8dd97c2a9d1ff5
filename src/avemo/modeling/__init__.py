"""Models: what the shared encoder sees, the encoder, the classifiers and their checkpoints, the frozen
encoder's cached features, loading batches, inference and training."""
