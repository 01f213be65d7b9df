"""``orchestrator report`` and ``journeys graph``: journeys drawn as graphs (a layered
layout of our own), the funnel per step, messages over time as bar charts, reasons and
the version history, written as one self-contained HTML page or SVG file.

Drawing only: the counts come from :mod:`orchestrator.audit.report_data`.
"""
