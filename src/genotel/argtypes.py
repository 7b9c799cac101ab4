"""Argument types shared by genotel's subcommands: each turns a bad value into a usage error."""

from __future__ import annotations

import argparse


def probe_codec(text: str) -> int:
    prefix, _, level = text.partition("-")
    if prefix != "zstd" or not level.lstrip("-").isdigit() or not -7 <= int(level) <= 22:
        raise argparse.ArgumentTypeError(f"expected zstd-N with N from -7 to 22: {text!r}")
    return int(level)


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1: {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0: {text!r}")
    return value
