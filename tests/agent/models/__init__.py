"""Tests of agent.models."""
