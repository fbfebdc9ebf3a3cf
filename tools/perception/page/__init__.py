"""Reading a product page of any shop from its lines (text layer or OCR) and markup: layout into segments, prices,
title, brand, category, listings; page visits read together. Part of the perception stage."""
