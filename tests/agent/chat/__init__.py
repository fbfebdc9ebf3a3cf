"""Tests of agent.chat."""
