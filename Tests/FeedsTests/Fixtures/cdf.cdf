<?xml version="1.0"?>
<CHANNEL HREF="http://cdf.test/">
  <TITLE>Channel Definition</TITLE>
  <ABSTRACT>An old push channel</ABSTRACT>
  <ITEM HREF="http://cdf.test/page1" LASTMOD="2001-02-03T04:05">
    <TITLE>Page one</TITLE>
    <ABSTRACT>The first page</ABSTRACT>
  </ITEM>
</CHANNEL>
