"""The corpus: CREMA-D's clip names and metadata, the release's checksums, fetching and verifying a copy,
and the split of clips into folds by actor. Knows nothing of spectrograms, faces or models."""
