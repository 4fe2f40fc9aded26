"""Payment providers: WeChat Pay v3 (wechatpayv3) and Alipay (python-alipay-sdk)."""
