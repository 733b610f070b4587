#!/usr/bin/env bash
# Count words: called from a shell: rule with bash.
wc -w < "$1" | tr -d ' '
