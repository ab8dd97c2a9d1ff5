"""Stage train_audio: the shared encoder + a classifier head on log-Mel spectrograms.

Spectrograms enter the encoder as 3-channel images with a fixed normalisation (see avemo.inputs). The
epoch is chosen on the validation part; the test part is scored once, after training. Writes the best
checkpoint (models/audio.pt), metrics/train_audio.json and per-epoch curves (dvclive/train_audio).
"""

import sys

from avemo.training import training_stage

if __name__ == "__main__":
    sys.exit(training_stage("audio", __doc__))
