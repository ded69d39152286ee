"""The certification pipeline: 高新技术企业 and 科技型中小企业 cases, eligibility, certificates."""
