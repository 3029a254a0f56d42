"""The marketer's offline HTML report: section data (builder), plotly charts, two languages, the page."""
