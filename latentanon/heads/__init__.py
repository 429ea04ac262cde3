"""Co-training heads: linear action recognition, MGFN anomaly detection, TriDet temporal action detection."""
