import sys
from pathlib import Path

# tests import the shared helpers (oracle.py) as plain modules
sys.path.insert(0, str(Path(__file__).parent))
