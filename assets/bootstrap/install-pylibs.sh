#!/bin/bash
# EMR bootstrap action (SC-1): runs on every node when the cluster starts.
set -euxo pipefail
sudo python3 -m pip install --quiet boto3 pandas pyarrow sagemaker
