"""Tests of agent.cli."""
