"""Actions that change the network: switch configuration (Jaringan Intra) and site-to-site VPN."""
