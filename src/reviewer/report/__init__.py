"""Reporters: turn a :class:`~reviewer.findings.ScanResult` into output for people and machines.

A reporter never looks at source code; it only formats what the scan produced.
"""
