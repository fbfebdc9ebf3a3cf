"""What a page says beside its pixels, recorded with each frame: the text layer of the viewport (one CDP snapshot) and
the product markup of the page (extruct). Part of the capture stage; imports tools.lines only."""
