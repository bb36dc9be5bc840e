"""Letters: the PDF of every document (kop surat, number, page numbers, signature blocks).

Nothing is imported here on purpose: `toolkit.settings` embeds `toolkit.letters.config`, and a package
``__init__`` that pulled in the renderer (which needs the settings) would close an import circle.
"""
