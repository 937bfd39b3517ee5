using DiscriminativeTokens.ClassifierService;

// The classifier service process: hosts one image classifier behind dct.classifier.v1.ClassifierService.
// Configuration: the Classifier section (appsettings.json, Classifier__* environment variables, --Classifier:* arguments).
return ClassifierServiceApp.Run(ClassifierServiceApp.Build(args));
