"""Stage train_video: the shared encoder + a classifier head on face crops.

The epoch is chosen on the validation part; the test part is scored once, after training. Writes the
best checkpoint (models/video.pt), metrics/train_video.json and per-epoch curves (dvclive/train_video).
"""

import sys

from avemo.training import training_stage

if __name__ == "__main__":
    sys.exit(training_stage("video", __doc__))
