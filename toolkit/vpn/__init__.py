"""Site-to-site VPN (WireGuard) between an agency site and the data center: plan, keys, gateways, action."""
