"""Peak memory of ``dada slop`` against the size of its input: a synthetic JSONL of N MB is
measured in a fresh process (ru_maxrss of the child), and the ratio peak / input is printed.
Before the batched corpus, the blocked MATTR, n-grams without extra copies and statistics dropped
once valued (issue 12) the ratio was about 38 (3.78 GB for 100 MB); measured after: 13.5
(1.37 GB for 100 MB; the cross-prompt trigram count is now the largest single step)."""

import json
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

MB = int(sys.argv[1]) if len(sys.argv) > 1 else 20
WORDS = ("the cat sat on a mat and felt a shiver down her spine as a testament to the "
         "ministrations of the night tapestry").split()


def main() -> None:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jsonl"
        with path.open("w") as fh:
            size = 0
            while size < MB * 1_000_000:
                line = json.dumps({"prompt": f"p{size % 97}",
                                   "output": " ".join(rng.choice(WORDS) for _ in range(200)) + "."}) + "\n"
                fh.write(line)
                size += len(line)
        baseline = subprocess.run([sys.executable, "-c", "import dada_plugin.eval.metrics"], check=True)
        base_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([sys.executable, "-m", "dada_plugin.cli", "slop", str(path)], check=True,
                       stdout=subprocess.DEVNULL)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        del baseline
    grown = (peak_kb - base_kb) * 1024
    print(f"input {size / 1e6:.1f} MB; peak RSS {peak_kb / 1e3:.0f} MB (imports alone {base_kb / 1e3:.0f} MB)")
    print(f"peak growth / input size: {grown / size:.1f}x")


if __name__ == "__main__":
    main()
