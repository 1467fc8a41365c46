/**
 * The mapping scenario's baseline: a JSONata expression (for a core `change` node) that turns the same Concur
 * report and expenses into the same canonical ExpenseReport as finance-map's built-in `concur` profile with
 * the sample options (sampleProfileOptions), for the sample reports: EUR (2 decimals), no personal expenses.
 * Like a hand-written mapping it does not validate; finance-map also checks the document against the
 * canonical schema and the money rules. Equality with the profile is checked before anything is measured.
 */
'use strict';

/** The expression for `profileOptions` (cost center, project and employee fields, GL account per type). */
function concurExpression(profileOptions) {
  const glAccounts = JSON.stringify(profileOptions.glAccountByExpenseType);
  const field = (name) => JSON.stringify(name.toLowerCase());
  const entryField = (name) => name.charAt(0).toUpperCase() + name.slice(1);
  return `(
  $report := payload;
  $currency := $report.currencyCode;
  $custom := function($id) { $report.customData[$lowercase(id) = $id].value };
  $states := {
    "A_NOTF": "draft", "A_AAFH": "submitted", "A_RHLD": "submitted", "A_FILE": "pending_approval",
    "A_PEND": "pending_approval", "A_PBDG": "pending_approval", "A_PECO": "pending_approval",
    "A_EXTV": "pending_approval", "A_PVAL": "pending_approval", "A_APPR": "approved", "A_ACCO": "pending_approval",
    "A_RESU": "returned", "A_TEXP": "escalated"
  };
  $glAccounts := ${glAccounts};
  $money := function($value) { { "amount": $formatNumber($value, "0.00"), "currency": $currency } };
  {
    "docType": "ExpenseReport",
    "sourceRef": { "system": "concur", "id": $report.reportId, "version": $report.reportVersion },
    "reportId": $report.reportId,
    "name": $report.name,
    "businessPurpose": $report.businessPurpose,
    "employeeId": $custom(${field(profileOptions.employeeIdField)}),
    "company": ${JSON.stringify(profileOptions.company)},
    "submittedAt": $report.submitDate,
    "state": $report.paymentStatusId in ["P_PAID", "P_PAYC"] ? "paid" : $lookup($states, $report.approvalStatusId),
    "total": $money($report.claimedAmount.value),
    "lines": [$report.expenses.Items[IsPersonal != true].{
      "lineId": ID,
      "date": $substring(TransactionDate, 0, 10),
      "expenseType": ExpenseTypeCode,
      "description": Description,
      "merchant": VendorDescription,
      "amount": $money(PostedAmount),
      "dimensions": {
        "costCenter": ${entryField(profileOptions.costCenterField)}.Code ? ${entryField(profileOptions.costCenterField)}.Code : $custom(${field(profileOptions.costCenterField)}),
        "project": ${entryField(profileOptions.projectField)}.Code ? ${entryField(profileOptions.projectField)}.Code : $custom(${field(profileOptions.projectField)}),
        "glAccount": $lookup($glAccounts, ExpenseTypeCode)
      },
      "receiptAttached": HasImage
    }]
  }
)`;
}

module.exports = { concurExpression };
