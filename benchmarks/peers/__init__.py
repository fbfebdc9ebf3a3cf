"""The session-model peer comparison (ours against RecBole's GRU4Rec and SR-GNN on one split). Runs in its own
virtualenv (scripts/peers.sh), so it imports only numpy-level code of ours."""
