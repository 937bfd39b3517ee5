"""Python client of Discriminative Tokens. Generate the stubs first: clients/python/generate_stubs.sh."""
import os
import sys

# The generated modules import each other as top-level packages ("dct...", "google.rpc...").
_generated = os.path.join(os.path.dirname(__file__), "generated")
if _generated not in sys.path:
    sys.path.insert(0, _generated)
