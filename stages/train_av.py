"""Stage train_av: ONE encoder instance for both the spectrogram and the face of a clip, fused features
(fusion.method: concat or mean) and one classifier head, with modality dropout (fusion.modality_dropout)
so the model still works when a modality is missing.

The epoch is chosen on the validation part; the test part is scored once, after training. Writes the
best checkpoint (models/av.pt), metrics/train_av.json and per-epoch curves (dvclive/train_av).
"""

import sys

from avemo.training import training_stage

if __name__ == "__main__":
    sys.exit(training_stage("av", __doc__))
