#!/usr/bin/env python3
"""Writes events/oversized-prompt.json: a well-formed event whose prompt is one
character over the default MAX_PROMPT_CHARS (25,000, Bedrock's inputText limit).
Run from the repository root: python3 scripts/gen-oversized-event.py"""
import json
import pathlib

LIMIT = 25_000
valid = json.loads(pathlib.Path("events/valid.json").read_text())
sentence = "Tell me everything. "
prompt = (sentence * (LIMIT // len(sentence) + 1))[: LIMIT + 1]
assert len(prompt) == LIMIT + 1
event = {"prompt": prompt, "id_token": valid["id_token"]}
pathlib.Path("events/oversized-prompt.json").write_text(json.dumps(event, indent=2) + "\n")
