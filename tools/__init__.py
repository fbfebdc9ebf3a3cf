"""Capabilities as small typed functions, one subpackage per pipeline stage: capture -> perception -> recommend,
plus sessions. What stages share (schemas, atomic writes) sits here. Tools never import agent, shop or LangGraph;
they may import catalog and prompts."""
