"""WeChat through wechatpy. Imported only by the functions that talk to WeChat."""
