"""Moving from Atlassian Statuspage: its v2 JSON read into our components and incidents.

`sources` reads the documents (a page URL, a file, a directory or a zip), `shapes` checks
them and turns them into rows, `writer` applies the rows in one transaction, matched by the
Statuspage id each row keeps (`external_id`), so a second run changes nothing and a later
export adds only what is new. Nothing here announces, pages or posts: imported history
was told on the page it came from (docs/ARCHITECTURE-public.md, "Moving from Statuspage").
"""
