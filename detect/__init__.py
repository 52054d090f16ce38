"""Traffic to verdicts to alerts: `ids-inference detect` joins the flow meter to the artifacts."""
