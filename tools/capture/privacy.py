"""Masking what must never be captured: before each screenshot the text of password, card, e-mail, address
and phone fields is hidden (their values are left untouched), and shown again right after. The shop's live
"Recommended for you" panel is hidden too: the agent's own output is no evidence of the shopper's taste."""

from __future__ import annotations

# Inputs and text areas whose content is sensitive, by type, autocomplete token or a telling name/id.
SENSITIVE_SELECTORS = ", ".join([
    "input[type=password]", "input[type=email]", "input[type=tel]",
    "input[autocomplete^=cc-]", "input[autocomplete*=email]", "input[autocomplete*=address]",
    "input[autocomplete*=postal]", "input[autocomplete*=tel]", "textarea[autocomplete*=address]",
    "input[name*=card i]", "input[id*=card i]", "input[name*=cvv i]", "input[name*=cvc i]",
    "input[name*=email i]", "input[id*=email i]", "input[name*=address i]", "input[id*=address i]",
    "textarea[name*=address i]", "textarea[id*=address i]", "input[name*=phone i]", "input[name*=zip i]",
    "input[name*=postcode i]", "input[name*=pin i]",
])
STYLE_ID = "interarec-privacy-mask"

# Transparent text, no caret, no placeholder-like shadows: the field renders as if empty.
MASK = f"""(() => {{
  if (!document.documentElement || document.getElementById('{STYLE_ID}')) return 0;
  const style = document.createElement('style');
  style.id = '{STYLE_ID}';
  style.textContent = `{SENSITIVE_SELECTORS} {{ color: transparent !important; caret-color: transparent !important;
    text-shadow: none !important; -webkit-text-fill-color: transparent !important; }}
    [data-interarec-panel] {{ visibility: hidden !important; }}`;
  document.documentElement.appendChild(style);
  return document.querySelectorAll(`{SENSITIVE_SELECTORS}`).length;
}})()"""
UNMASK = f"""(() => {{ const s = document.getElementById('{STYLE_ID}'); if (s) s.remove(); }})()"""
