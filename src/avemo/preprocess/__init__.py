"""Preprocessing: decoding clips, spectrogram maths, face detection, the parallel per-clip runner and its
output index, and the four per-clip stages' work (extract_audio, melspec, extract_middle_frame, face_crop)."""
